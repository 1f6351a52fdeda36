// Two parameters that both want the body: the raw stream, and a model (a body by its type).
#[derive(wasgi::Model)]
struct Item {
    name: String,
}

#[wasgi::post("/upload")]
fn upload(data: wasgi::Body, item: Item) -> String {
    let _ = data;
    item.name
}

fn main() {}
