"""POST /jobs: put the request's JSON body on the `jobs` queue."""

from deployer.runtime import Response, stores


def submit(request):
    job = request.json()
    if not isinstance(job, dict) or "id" not in job:
        return Response(400, {"error": "send a JSON object with an id"})
    stores.queue("jobs").send(job)
    return Response(202, {"queued": job["id"]})
