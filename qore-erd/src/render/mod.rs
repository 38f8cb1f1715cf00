//! Renderers: SVG, PNG, the interactive HTML page, JSON geometry, and the
//! text diagram languages.

pub mod html;
pub mod svg;
pub mod text;

use qore_core::{Error, Result};
use serde::Serialize;

use crate::layout::Layout;
use crate::model::Model;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// SVG document.
    Svg,
    /// PNG image rendered from the SVG (resvg; no browser).
    Png,
    /// Self-contained interactive page.
    Html,
    /// Mermaid `erDiagram`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// PlantUML.
    Plantuml,
    /// DBML (dbdiagram.io).
    Dbml,
    /// The model and its geometry as JSON (for a GUI's own canvas).
    Json,
}

impl Format {
    /// Every format's name, as `parse` reads them.
    pub const NAMES: &'static str = "svg, png, html, mermaid, dot, plantuml, dbml, json";

    /// Parses a format name (`mmd`, `gv`, `puml` accepted too).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] listing the formats.
    pub fn parse(s: &str) -> Result<Format> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "svg" => Format::Svg,
            "png" => Format::Png,
            "html" | "htm" => Format::Html,
            "mermaid" | "mmd" => Format::Mermaid,
            "dot" | "gv" | "graphviz" => Format::Dot,
            "plantuml" | "puml" | "pu" => Format::Plantuml,
            "dbml" => Format::Dbml,
            "json" => Format::Json,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "ER diagram format `{s}`: expected one of {}",
                    Format::NAMES
                )));
            }
        })
    }

    /// The format a file name's extension names, if any.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| Format::parse(e).ok())
    }

    /// Whether the output is text (can go to a terminal).
    pub fn is_text(self) -> bool {
        self != Format::Png
    }
}

/// Largest PNG edge, in pixels.
pub const PNG_MAX_EDGE: f64 = 16_384.0;
/// Largest PNG area, in pixels (about 256 MB of RGBA while rendering).
pub const PNG_MAX_PIXELS: f64 = 64.0e6;

/// Renders an SVG document to PNG at `scale` (reduced so the image stays
/// within [`PNG_MAX_EDGE`] and [`PNG_MAX_PIXELS`]). Returns the bytes and
/// the scale used.
///
/// # Error handling
///
/// [`Error::Internal`] when the SVG does not parse or the image cannot be
/// allocated or encoded.
pub fn png(svg: &str, scale: f64) -> Result<(Vec<u8>, f64)> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    opt.fontdb_mut().set_monospace_family("DejaVu Sans Mono");
    let tree = usvg::Tree::from_str(svg, &opt)
        .map_err(|e| Error::Internal(format!("the diagram's SVG does not parse: {e}")))?;
    let size = tree.size();
    let (w, h) = (f64::from(size.width()), f64::from(size.height()));
    let mut s = scale.max(0.01);
    s = s.min(PNG_MAX_EDGE / w.max(h).max(1.0));
    s = s.min((PNG_MAX_PIXELS / (w * h).max(1.0)).sqrt());
    let (pw, ph) = ((w * s).ceil().max(1.0) as u32, (h * s).ceil().max(1.0) as u32);
    let mut pixmap = tiny_skia::Pixmap::new(pw, ph).ok_or_else(|| {
        Error::Internal(format!("cannot allocate a {pw}×{ph} image for the PNG"))
    })?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(s as f32, s as f32),
        &mut pixmap.as_mut(),
    );
    let bytes = pixmap
        .encode_png()
        .map_err(|e| Error::Internal(format!("cannot encode the PNG: {e}")))?;
    Ok((bytes, s))
}

/// Renders `model` laid out as `layout` in `format`.
///
/// # Error handling
///
/// As [`png`] for PNG; the other formats cannot fail.
pub fn render(
    model: &Model,
    layout: &Layout,
    format: Format,
    page: &html::PageOptions,
    png_scale: f64,
) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Svg => svg::render(model, layout).into_bytes(),
        Format::Png => png(&svg::render(model, layout), png_scale)?.0,
        Format::Html => html::render(model, layout, page).into_bytes(),
        Format::Mermaid => text::mermaid(model, layout).into_bytes(),
        Format::Dot => text::dot(model, layout).into_bytes(),
        Format::Plantuml => text::plantuml(model, layout).into_bytes(),
        Format::Dbml => text::dbml(model).into_bytes(),
        Format::Json => {
            let v = serde_json::json!({ "model": model, "layout": layout });
            let mut s = serde_json::to_string_pretty(&v)
                .map_err(|e| Error::Internal(format!("cannot write the JSON: {e}")))?;
            s.push('\n');
            s.into_bytes()
        }
    })
}
