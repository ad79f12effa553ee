-- wrk script: every request is `POST /v1/exports` creating a new export (201).
-- The bearer token comes from the command line (`-H "Authorization: Bearer ..."`);
-- scripts/bench-api.sh appends its reporting `done()` to this file before running it.
wrk.method = "POST"
wrk.path = "/v1/exports"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench","pageSize":20,"type":"delta",'
  .. '"delta":{"dateField":"updated_at"},'
  .. '"http":{"relativeURI":"/orders","method":"GET"}}'
