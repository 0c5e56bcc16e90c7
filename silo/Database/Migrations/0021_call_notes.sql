-- What a location or the CRM noted about a call with its outcome (POST /v1/tenants/{t}/calls/{id}/outcome, "notes").
ALTER TABLE callmesh.calls ADD COLUMN notes text;
