// Two parameters that both want the body: the raw stream, and a body field.
#[wasgi::post("/upload")]
fn upload(data: wasgi::Body, #[body] name: String) -> String {
    let _ = data;
    name
}

fn main() {}
