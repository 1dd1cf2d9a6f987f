"""The matching core: hard rules, the solver and its stages, explanations. No I/O here."""
