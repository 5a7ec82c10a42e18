"""The framework ceiling: a bare Flask endpoint that parses the same JSON body as a booking
and answers 201 with a small JSON document, served by the same gunicorn the same way. What
this reaches per second is what Flask, gunicorn and the load generator cost on this machine
before any of Xiyue's work; booking throughput is reported as a share of it."""

from flask import Flask, request

app = Flask(__name__)


@app.get("/api/v1/services")
def services():
    return {"services": []}


@app.post("/api/v1/appointments")
def book():
    body = request.get_json(silent=True) or {}
    applicants = body.get("applicants") or []
    return {"code": "CEILING1", "status": "booked", "date": body.get("date"),
            "start": body.get("start"), "applicants": len(applicants)}, 201
