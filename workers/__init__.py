"""rq jobs and the worker entry point. Jobs take ids, reload state, check it, act, and record."""
