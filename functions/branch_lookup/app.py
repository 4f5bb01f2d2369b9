"""branch_lookup: Chalice glue. Routes parse input, call the service and shape the answer."""
from functions.common import http, intents
from functions.common.intents import Intent, Reply

app = http.FeatureApp(app_name="branch_lookup")


@app.route("/branches/health")
def health():
    return {"status": "ok"}


def answer(intent: Intent) -> Reply:
    """Answer the webhook; this feature has nothing to say yet."""
    return Reply.nothing()


intent = app.lambda_function(name="intent")(intents.handler(answer))
