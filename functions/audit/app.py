"""audit: Chalice glue. The back office's audit trail for auditors, read only:
GET /audit/staff/records?application_id=…|staff=…|day=YYYY-MM-DD (role auditor, paged)."""
from functions.audit import actions
from functions.common import http, staff
from functions.common.http import TEXT, Field

app = http.FeatureApp(app_name="audit")
SEARCH = {"application_id": Field(64), "staff": Field(128), "day": Field(32), "limit": Field(16), "cursor": TEXT}


@app.route("/audit/health")
def health():
    return {"status": "ok"}


@app.route("/audit/staff/records", methods=["GET"])
def records_api():
    request = app.current_request
    http.require_staff(request, staff.AUDITOR)
    return http.json_response(actions.search(http.query(request, SEARCH)))
