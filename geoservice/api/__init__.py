"""The HTTP layer: handlers parse parameters and choose a response; domain modules own the rules."""
