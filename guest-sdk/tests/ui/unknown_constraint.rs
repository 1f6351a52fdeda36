// A misspelt constraint.
#[wasgi::get("/search")]
fn search(#[query(minlength = 3)] q: String) -> String {
    q
}

fn main() {}
