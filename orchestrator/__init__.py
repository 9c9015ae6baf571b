"""The training orchestrator (deployed): keeps Large Face Lists, Large Person Groups and Person Groups trained.
The README's map of the code says which module holds which concern."""
