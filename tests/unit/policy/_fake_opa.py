"""A tiny in-memory fake of OPA's REST API, mounted as a ``requests`` adapter (no sockets).

It keeps policies and the data document, evaluates ``POST /v1/data/<path>`` with regorus (a
fresh engine per request), and answers in OPA's shapes: ``{"result": value}`` or ``{}`` when
undefined; a policy that does not parse is ``400`` with OPA's error list.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from requests.adapters import BaseAdapter


class FakeOpa(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.policies: dict[str, str] = {}
        self.data: Any = {}
        self.requests: list[tuple[str, str]] = []
        self.down = False

    def _answer(self, request: requests.PreparedRequest, status: int, body: Any) -> Any:
        response = requests.Response()
        response.status_code = status
        response._content = b"" if body is None else json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        return response

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        import regorus

        if self.down:
            raise requests.ConnectionError("connection refused (fake OPA is down)")
        path = (request.url or "").split("/v1", 1)[-1].split("?")[0]
        method = request.method or "GET"
        self.requests.append((method, path))
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        if path.startswith("/policies/") and method == "PUT":
            policy_id = path.removeprefix("/policies/")
            engine = regorus.Engine()
            try:
                engine.add_policy(policy_id, body)
            except RuntimeError as error:
                row = int(str(error).split(f"{policy_id}:", 1)[1].split(":", 1)[0])
                return self._answer(
                    request,
                    400,
                    {
                        "code": "invalid_parameter",
                        "message": "error(s) occurred while compiling module(s)",
                        "errors": [
                            {
                                "code": "rego_parse_error",
                                "message": "parse error",
                                "location": {"file": policy_id, "row": row, "col": 1},
                            }
                        ],
                    },
                )
            self.policies[policy_id] = body
            return self._answer(request, 200, {})
        if path.startswith("/policies/") and method == "DELETE":
            self.policies.pop(path.removeprefix("/policies/"), None)
            return self._answer(request, 200, {})
        if path == "/data" and method == "PUT":
            self.data = json.loads(body)
            return self._answer(request, 204, None)
        if path.startswith("/data/") and method == "POST":
            engine = regorus.Engine()
            for policy_id, text in self.policies.items():
                engine.add_policy(policy_id, text)
            engine.add_data_json(json.dumps(self.data))
            engine.set_input_json(json.dumps(json.loads(body).get("input")))
            ref = "data." + ".".join(path.removeprefix("/data/").split("/"))
            answer = json.loads(engine.eval_query_as_json(ref))
            results = answer.get("result") or []
            if not results:
                return self._answer(request, 200, {})
            return self._answer(request, 200, {"result": results[0]["expressions"][0]["value"]})
        return self._answer(request, 404, {"code": "not_found"})

    def close(self) -> None:
        pass
