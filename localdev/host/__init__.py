"""A local Functions host for the Python v2 model: queue, timer and HTTP triggers, as the real host runs them.

Azure Functions Core Tools cannot be installed on these machines (its installer downloads a binary), so this
host reads the triggers from the app object and reproduces the documented semantics; see README, "Dev host".
"""
