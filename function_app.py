"""The function app's entry point (Python v2 programming model).

It will bind the queue, timer and HTTP triggers to `orchestrator/`; until the orchestrator lands it registers no
function, which the Functions host accepts ("0 functions found").
"""

import azure.functions as func

app = func.FunctionApp()
