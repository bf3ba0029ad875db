-- wrk script: GET a list page with HTTP Basic auth. Environment: THUMBS_BENCH_AUTH.
wrk.headers["Authorization"] = "Basic " .. os.getenv("THUMBS_BENCH_AUTH")

dofile(os.getenv("THUMBS_BENCH_DIR") .. "/result.lua")
