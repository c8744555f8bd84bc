"""Pure Python, one module per lesson: defaults, compute steps, exports, validation."""
