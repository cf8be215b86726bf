//! Where the captions go: `position` and `placement` attribute values.

/// Top or bottom edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vertical {
    Top,
    Bottom,
}

/// Left, centre or right side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizontal {
    Left,
    Center,
    Right,
}

/// `position="bottom-center"` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub vertical: Vertical,
    pub horizontal: Horizontal,
}

impl Default for Position {
    fn default() -> Self {
        Position {
            vertical: Vertical::Bottom,
            horizontal: Horizontal::Center,
        }
    }
}

impl Position {
    /// Parses `top|bottom` `-` `left|center|right`, case-insensitively.
    pub fn parse(value: &str) -> Option<Position> {
        let value = value.trim().to_ascii_lowercase();
        let (v, h) = value.split_once('-')?;
        let vertical = match v {
            "top" => Vertical::Top,
            "bottom" => Vertical::Bottom,
            _ => return None,
        };
        let horizontal = match h {
            "left" => Horizontal::Left,
            "center" => Horizontal::Center,
            "right" => Horizontal::Right,
            _ => return None,
        };
        Some(Position {
            vertical,
            horizontal,
        })
    }

    /// CSS classes for the widget's root element.
    pub fn classes(self) -> &'static str {
        use {Horizontal::*, Vertical::*};
        match (self.vertical, self.horizontal) {
            (Top, Left) => "top left",
            (Top, Center) => "top center",
            (Top, Right) => "top right",
            (Bottom, Left) => "bottom left",
            (Bottom, Center) => "bottom center",
            (Bottom, Right) => "bottom right",
        }
    }
}

/// Where the widget's box goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Absolutely over the nearest positioned ancestor (the player); only the
    /// controls take pointer events, so the video stays clickable.
    #[default]
    Overlay,
    /// A block in the page flow, e.g. beside or under the video.
    Inline,
}

impl Placement {
    /// The CSS class for the widget's root element.
    pub fn class(self) -> &'static str {
        match self {
            Placement::Overlay => "overlay",
            Placement::Inline => "inline",
        }
    }
}

/// Reads the `placement` attribute: absent means the default, `None` means
/// a value that is neither `overlay` nor `inline`.
pub fn placement(raw: Option<&str>) -> Option<Placement> {
    match raw.map(|p| p.trim().to_ascii_lowercase()).as_deref() {
        None | Some("overlay") => Some(Placement::Overlay),
        Some("inline") => Some(Placement::Inline),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_position_parses() {
        for v in ["top", "bottom"] {
            for h in ["left", "center", "right"] {
                let p = Position::parse(&format!("{v}-{h}")).unwrap();
                assert_eq!(p.classes(), format!("{v} {h}"));
            }
        }
    }

    #[test]
    fn placements_parse() {
        assert_eq!(placement(None), Some(Placement::Overlay));
        assert_eq!(placement(Some(" INLINE ")), Some(Placement::Inline));
        assert_eq!(placement(Some("overlay")), Some(Placement::Overlay));
        assert_eq!(placement(Some("float")), None);
    }
}
