-- Shared by the wrk scripts that create feedback (create.lua, mixed.lua): one
-- POST /v1/Assistants/{id}/Feedbacks with its own body and end user.
local TEXTS = {
  '"problem resolved"', '"the answer was wrong about the refund"', 'null',
  '"too long, but correct"', '"it did not understand my question"', '"perfect, thanks"',
}

function feedback_create(auth, assistant, session, message_id, identity)
  local body = string.format(
    '{"session_id": "%s", "message_id": "%s", "score": %.1f, "text": %s}',
    session, message_id, math.random(0, 10) / 10, TEXTS[math.random(#TEXTS)])
  return wrk.format("POST", "/v1/Assistants/" .. assistant .. "/Feedbacks", {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/json",
    ["X-Thumbs-Identity"] = identity,
  }, body)
end
