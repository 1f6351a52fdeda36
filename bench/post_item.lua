-- wrk: every request is `POST /items` with a valid Item (the body bench/driver.py checks).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Foo","description":"A very nice Item","price":35.4,"tax":3.2,"tags":["rock","metal"]}'
