-- wrk script: POST a feedback body with HTTP Basic auth.
-- Environment: THUMBS_BENCH_AUTH (base64 of sid:token), THUMBS_BENCH_PATH.
wrk.method = "POST"
wrk.path = os.getenv("THUMBS_BENCH_PATH")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. os.getenv("THUMBS_BENCH_AUTH")
wrk.body = '{"session_id": "bench-session", "message_id": "aia_msg_bench", "score": 0.5, "text": "problem resolved"}'

dofile(os.getenv("THUMBS_BENCH_DIR") .. "/result.lua")
