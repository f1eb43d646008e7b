"""Operations: Prometheus metrics every floor updates, and the log context and JSON formatter."""
