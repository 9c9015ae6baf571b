"""A local Functions host for the Python v2 model: queue, timer and HTTP triggers, as the real host runs them.

Azure Functions Core Tools cannot be installed on these machines (its installer downloads a binary), so this
host does the .NET host's part: it starts Microsoft's worker runtime for the app, learns the functions from the
runtime's metadata, reproduces the documented trigger semantics, and hands each invocation to the runtime shaped
as the host shapes it; see docs/local-world.md, "Dev host".
"""
