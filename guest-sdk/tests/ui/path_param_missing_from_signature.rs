// The template names `{item_id}` but the function has no such parameter.
#[wasgi::get("/items/{item_id}")]
fn read_item(id: i64) -> i64 {
    id
}

fn main() {}
