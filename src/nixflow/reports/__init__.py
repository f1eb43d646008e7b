"""Reports: read models projected from the event log, and the metrics of docs/metrics.md over them."""
