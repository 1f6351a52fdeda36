// `StrEnum` variants are plain strings.
#[derive(wasgi::StrEnum)]
enum Shape {
    Circle(f64),
}

fn main() {}
