"""The OpenAPI 3.0 description of the JSON API, built from the record types in sync/."""
from sync.envelope import MAX_CURSOR, MAX_CURSOR_CHARS, MAX_INT
from sync.types import TYPES

KIND_SCHEMA = {"text": {"type": "string"}, "int": {"type": "integer"}, "bool": {"type": "boolean"},
               "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
               "uuid": {"type": "string", "format": "uuid"},
               "week": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"},
               "user": {"type": "string", "description": "Username of a user of the record's village."}}


def _record_fields(rtype) -> dict:
    properties = {}
    for name, spec in rtype.fields.items():
        schema = dict(KIND_SCHEMA[spec.kind])
        if spec.kind == "text":
            schema["maxLength"] = spec.max_length
        if spec.pattern:
            schema["pattern"] = f"^{spec.pattern}$"
        if spec.kind == "enum":
            schema["enum"] = list(spec.order)
        if spec.minimum is not None:
            schema["minimum"] = spec.minimum
        if spec.maximum is not None:
            schema["maximum"] = spec.maximum
        properties[name] = schema | {"nullable": not spec.required}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}


def _attachment_operations(uuid: dict, unauthorized: dict) -> dict:
    """A photo's bytes: the core of tus 1.0 (docs/sync-protocol.md, "Photos: the upload protocol")."""
    record = {"name": "record_id", "in": "path", "required": True, "schema": uuid}
    tus = {"name": "Tus-Resumable", "in": "header", "schema": {"type": "string", "enum": ["1.0.0"]}}
    offset = {"schema": {"type": "integer", "minimum": 0}}
    standing = {"Upload-Offset": offset | {"description": "Bytes received so far."},
                "Upload-Length": offset | {"description": "The record's `bytes`."}}
    not_found = _error("No such photo in your scope, or it was removed (`removed`: its bytes are deleted); for "
                       "GET also `not_uploaded` while not all its bytes have arrived.")
    image = {mime: {"schema": {"type": "string", "format": "binary"}}
             for mime in TYPES["attachment"].fields["mime"].order}
    return {
        "head": {"summary": "Where a photo's upload stands", "security": [{"device_token": []}],
                 "parameters": [record, tus],
                 "responses": {"200": {"description": "The offset reached and the length.", "headers": standing},
                               "401": unauthorized, "404": not_found}},
        "patch": {"summary": "Append the next bytes of a photo at Upload-Offset", "security": [{"device_token": []}],
                  "parameters": [record, tus, {"name": "Upload-Offset", "in": "header", "required": True,
                                               "schema": {"type": "integer", "minimum": 0}}],
                  "requestBody": {"required": True, "content": {
                      "application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                  "responses": {
                      "204": {"description": "Appended (or already complete); the new offset.",
                              "headers": {"Upload-Offset": offset}},
                      "400": _error("Upload-Offset is not a number of bytes, or the chunk ended early (what "
                                    "arrived is kept)."),
                      "401": unauthorized, "403": _error("Only the village's users upload photos."),
                      "404": not_found, "409": _error("Not the upload's offset; Upload-Offset says where it is."),
                      "412": _error("A tus version other than 1.0.0."),
                      "413": _error("The chunk runs past the declared size; nothing of it kept."),
                      "415": _error("Not application/offset+octet-stream."),
                      "422": _error("The finished file has the wrong size or SHA-256, or is not a sane image of "
                                    "the declared type; it was dropped and the offset is 0 again.")}},
        "get": {"summary": "The photo, or with size=thumb a small JPEG of it", "security": [{"device_token": []}],
                "parameters": [record, {"name": "size", "in": "query", "schema": {"type": "string",
                                                                                  "enum": ["thumb"]}}],
                "responses": {"200": {"description": "The stored photo (metadata stripped).", "content": image},
                              "400": _error("`size` is not `thumb`."), "401": unauthorized, "404": not_found}},
    }


def spec() -> dict:
    uuid = {"type": "string", "format": "uuid"}
    cursor = {"description": "Where the device stopped: its county's sequence number (every scope inside one "
                             "county), or, for a scope spanning counties, an opaque string to pass back unchanged.",
              "oneOf": [{"type": "integer", "minimum": 0, "maximum": MAX_CURSOR - 1},
                        {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_CHARS,
                         "pattern": "^[A-Za-z0-9_-]+$"}]}
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
        "TokenRequest": {"type": "object", "required": ["username", "password"], "properties": {
            "username": {"type": "string"}, "password": {"type": "string"}, "device_name": {"type": "string"}}},
        "User": {"type": "object", "properties": {
            "id": {"type": "integer"}, "username": {"type": "string"},
            "name": {"type": "string", "description": "The display name (张伟), else the username"},
            "role": {"type": "string"},
            "unit": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                      "level": {"type": "string"}}}}},
        "TokenResponse": {"type": "object", "required": ["token", "device", "user"], "properties": {
            "token": {"type": "string"}, "device": uuid, "user": {"$ref": "#/components/schemas/User"}}},
        "Op": {"type": "object", "required": ["op", "type", "id"], "properties": {
            "op": uuid, "type": {"type": "string", "enum": sorted(TYPES)}, "id": uuid,
            "base": {"type": "integer", "minimum": 0, "maximum": MAX_INT, "nullable": True},
            "set": {"type": "object", "description": "Field values; see the x-record-types extension."},
            "at": {"type": "string", "format": "date-time"},
            "unit": {"type": "string", "description": "Village code; township users name it when creating."},
            "ack": {"type": "boolean", "description": "Acknowledge (clear) the record's open conflicts."}},
            "additionalProperties": False},
        "SyncRequest": {"type": "object", "properties": {
            "device": uuid | {"description": "The token's device; may be left out."}, "cursor": cursor | {"nullable": True},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "ops": {"type": "array", "maxItems": 500, "items": {"$ref": "#/components/schemas/Op"}},
            "people": {"type": "string", "maxLength": 64, "nullable": True,
                       "description": "The version of the village's people list the device has (null: none); "
                                      "the answer carries `people` only when it changed."}},
            "additionalProperties": False},
        "Result": {"type": "object", "required": ["op", "status"], "properties": {
            "op": uuid, "status": {"type": "string", "enum": ["applied", "merged", "duplicate", "rejected"]},
            "outcome": {"type": "string"}, "version": {"type": "integer"},
            "conflicts": {"type": "array", "items": {"type": "object"}},
            "error": {"$ref": "#/components/schemas/Error/properties/error"}}},
        "Change": {"type": "object", "required": ["type", "id", "version", "deleted", "fields"], "properties": {
            "type": {"type": "string"}, "id": uuid, "version": {"type": "integer"}, "deleted": {"type": "boolean"},
            "unit": {"type": "string"}, "author": {"type": "string"}, "updated_at": {"type": "string"},
            "fields": {"type": "object"},
            "conflicts": {"type": "array", "items": {"type": "object"}}}},
        "SyncResponse": {"type": "object", "required": ["results", "changes", "cursor", "more"], "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
            "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
            "cursor": cursor, "more": {"type": "boolean"},
            "people": {"type": "object", "properties": {
                "version": {"type": "string"},
                "list": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}}}}},
        "Person": {"type": "object", "required": ["username", "role", "name", "village"], "properties": {
            "username": {"type": "string"}, "role": {"type": "string"},
            "name": {"type": "string", "description": "The display name, else the username"},
            "village": {"type": "boolean", "description": "Of the village (the pickers offer them); false: "
                                                          "township or county staff whose words reach its records"}}},
    }
    bearer = [{"device_token": []}]
    unauthorized = _error("No token, or an invalid one (`invalid_token`), a revoked or logged-out device "
                          "(`device_revoked`), one unused too long (`token_expired`); JSON, never a redirect.")
    too_large = _error("The body is larger than the server accepts (8 MB); nothing applied.")
    return {
        "openapi": "3.0.3",
        "info": {"title": "Zhucun sync API", "version": "1",
                 "description": "One round trip pushes a device's ops and pulls the changes in its scope. "
                                "See docs/sync-protocol.md."},
        "paths": {
            "/api/auth/token": {"post": {
                "summary": "Exchange a username and password for a device token",
                "requestBody": {"required": True, "content": _json("TokenRequest")},
                "responses": {"201": {"description": "A new device and its token (shown once).",
                                      "content": _json("TokenResponse")},
                              "400": _error("Malformed request."), "401": _error("Wrong username or password."),
                              "413": too_large,
                              "429": _error("Too many failed attempts for this username or address "
                                            "(`too_many_attempts`); `Retry-After` says when to try again.")}}},
            "/api/auth/logout": {"post": {
                "summary": "End the token's device: the token, the page session and remember-me",
                "security": bearer,
                "responses": {"200": {"description": "The device, now revoked."}, "401": unauthorized}}},
            "/api/me": {"get": {
                "summary": "The token's (or page session's) user and device", "security": bearer,
                "responses": {"200": {"description": "The user and device."}, "401": unauthorized}}},
            "/api/sync": {"post": {
                "summary": "Push ops and pull changes", "security": bearer,
                "requestBody": {"required": True, "content": _json("SyncRequest")},
                "responses": {"200": {"description": "Per-op results and a page of changes.",
                                      "content": _json("SyncResponse")},
                              "400": _error("Malformed envelope; nothing applied."), "401": unauthorized,
                              "413": too_large,
                              "403": _error("`device` is not the token's device; nothing applied.")}}},
            "/api/schema": {"get": {
                "summary": "The merge table of sync/types.py: fields, bounds, moves, defaults, milestones, labels",
                "parameters": [{"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["zh_CN", "en"]}}],
                "responses": {"200": {"description": "The table (see docs/sync-protocol.md); ETag for revalidation."},
                              "304": {"description": "Not modified since the copy named in If-None-Match."}}}},
            "/api/people": {"get": {
                "summary": "The people of your village (for owner and assignee pickers) and those above it who "
                           "comment and dispatch, with the names pages show", "security": bearer,
                "responses": {"200": {"description": "Usernames, roles, names."}, "401": unauthorized}}},
            "/api/work-items": {"get": {
                "summary": "The county's work-item list (涉村工作事项清单), searched by code or words",
                "security": bearer,
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                               {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["all"]}},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
                "responses": {"200": {"description": "The county's code and its items (code, name, basis, "
                                                     "department, effort_hours, status)."},
                              "401": unauthorized}}},
            "/api/reports/monthly": {"get": {
                "summary": "The month's figures of each village in your scope, for the county's own platform "
                           "(docs/reports.md): generated from the records, ordered by village code, never ranked",
                "security": bearer,
                "parameters": [{"name": "month", "in": "query",
                                "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                                "description": "The month in Beijing time; this month when left out."},
                               {"name": "format", "in": "query",
                                "schema": {"type": "string", "enum": ["json", "csv"]}}],
                "responses": {"200": {"description": "`{month, villages: [{code, name, township, days_in_village, "
                                                     "journals, visits, problems_resolved, requests_answered, "
                                                     "tasks_done}]}`, or CSV (UTF-8 with a BOM) with the same "
                                                     "columns and `month` first.",
                                      "content": {"application/json": {"schema": {"type": "object"}},
                                                  "text/csv": {"schema": {"type": "string"}}}},
                              "400": _error("`month` is not like 2026-11 (`bad_month`), or `format` is neither "
                                            "json nor csv (`bad_format`)."),
                              "401": unauthorized}}},
            "/api/history/{type}/{record_id}": {"get": {
                "summary": "A record's change history, from the op log", "security": bearer,
                "parameters": [{"name": "type", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": sorted(TYPES)}},
                               {"name": "record_id", "in": "path", "required": True, "schema": uuid}],
                "responses": {"200": {"description": "Who changed what, when, from which device; and the "
                                                     "review comments and replies on the record."},
                              "400": _error("`record_id` is not a UUID."),
                              "401": unauthorized, "404": _error("No such record in your scope.")}}},
            "/api/devices/{device_id}/revoke": {"post": {
                "summary": "Revoke a device in your scope (township staff and admins)", "security": bearer,
                "parameters": [{"name": "device_id", "in": "path", "required": True, "schema": uuid}],
                "responses": {"200": {"description": "Revoked."}, "400": _error("`device_id` is not a UUID."),
                              "401": unauthorized, "403": _error("Your role may not revoke devices."),
                              "404": _error("No such device in your scope.")}}},
            "/api/attachments/{record_id}": _attachment_operations(uuid, unauthorized),
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"device_token": {"type": "http", "scheme": "bearer"}},
        },
        "x-record-types": {name: _record_fields(rtype) for name, rtype in TYPES.items()},
    }
