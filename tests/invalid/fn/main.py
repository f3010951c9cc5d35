"""Handlers for the invalid-blueprint fixtures: the code is fine, the blueprints are not."""


def handle(request):
    return {"ok": True}


def run(event):
    return None
