"""The knowledge base: articles and their versions, full-text search, suggestions, feedback and deflection."""
