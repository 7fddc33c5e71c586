from ownpay.cli import main

main()
