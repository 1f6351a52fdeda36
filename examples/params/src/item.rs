//! The `Item` model of `params_app.py` and its `Image`. The benchmark's app
//! (`bench/wasgi-app`) includes this file too, so that both validate the same model without it
//! linking this example's other endpoints.

use serde_json::{Value, json};
use wasgi::Model;

/// An image of an item.
#[derive(Debug, Clone, Model)]
pub struct Image {
    /// Where the image is.
    pub url: String,
    /// Its name.
    pub name: String,
}

/// An item for sale.
#[derive(Debug, Clone, Model)]
pub struct Item {
    /// 1 to 50 characters.
    #[field(min_length = 1, max_length = 50)]
    pub name: String,
    /// At most 300 characters.
    #[field(max_length = 300)]
    pub description: Option<String>,
    /// Positive.
    #[field(gt = 0)]
    pub price: f64,
    /// Optional tax.
    pub tax: Option<f64>,
    /// Tags; none by default.
    #[field(default)]
    pub tags: Vec<String>,
    /// Optional images.
    pub images: Option<Vec<Image>>,
}

impl Item {
    /// The item as `POST /items` answers it: its fields, and `price_with_tax` when it has a tax.
    pub fn with_price_with_tax(&self) -> Value {
        let mut result = serde_json::to_value(self).unwrap_or_default();
        if let Some(tax) = self.tax {
            result["price_with_tax"] = json!(self.price + tax);
        }
        result
    }
}
