"""Transaction queries: filtered, cursor-paginated listing, detail, and streaming CSV export."""
