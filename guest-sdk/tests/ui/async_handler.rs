// Handlers are plain functions.
#[wasgi::get("/")]
async fn root() -> &'static str {
    "hello"
}

fn main() {}
