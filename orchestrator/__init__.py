"""The Large Face List training orchestrator (deployed). Its modules arrive with the orchestrator issue."""
