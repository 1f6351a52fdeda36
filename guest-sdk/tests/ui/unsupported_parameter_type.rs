// A parameter whose type cannot be read from a request.
struct Opaque;

#[wasgi::get("/things/{id}")]
fn read_thing(id: i64, thing: Opaque) -> i64 {
    let _ = thing;
    id
}

fn main() {}
