"""ylai operators."""
