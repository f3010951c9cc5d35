"""Put uploads into the uploads bucket and serve thumbnails."""

from deployer.runtime import Response, stores


def handle(request):
    name = request.params["name"]
    if "/" in name or name.startswith("."):
        return Response(400, {"error": "bad image name"})
    if request.method == "PUT":
        if not request.body:
            return Response(400, {"error": "empty body"})
        stores.bucket("uploads").put(f"incoming/{name}", request.body)
        return Response(202, {"key": f"incoming/{name}", "size": len(request.body)})
    if request.method == "DELETE":
        stores.bucket("uploads").delete(f"incoming/{name}")
        return Response(204, b"")
    data = stores.bucket("thumbnails").get(f"thumbs/{name}")
    if data is None:
        return Response(404, {"error": "no such thumbnail"})
    return Response(200, data, {"Content-Type": "image/png"})
