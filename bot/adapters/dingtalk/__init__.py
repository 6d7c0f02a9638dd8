"""DingTalk (钉钉): one module per concern.

- `codec`: pure; signed HTTP callbacks and Stream frames -> IncomingMessage, OutgoingMessage ->
  the JSON bodies of the webhook and OpenAPI sends (wire rules numbered there).
- `cards`: pure; the vote card's id, data and bodies, and a button click as a text command.
- `config`: the `[dingtalk]` table, checked (fail closed).
- `stream`: the Stream mode client (WebSocket, ACKs, reconnects, watchdog).
- `adapter`: the network shell: the HTTP route, the Stream callbacks and every send.
"""
