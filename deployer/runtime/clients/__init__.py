"""Store clients, one module per cloud; each defines Bucket, Table, Queue and Topic."""
