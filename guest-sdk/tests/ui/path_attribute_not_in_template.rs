// `#[path]` on a parameter the template does not have.
#[wasgi::get("/items")]
fn list_items(#[path] item_id: i64) -> i64 {
    item_id
}

fn main() {}
