def handle(request)
    return {}
