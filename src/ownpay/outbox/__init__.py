"""The event outbox: the table, the payloads of every event, writing them in the caller's
transaction, and waking the worker once that transaction commits."""
