//! NumPy's array printing (`np.array2string` defaults: precision 8, `maxprec`, line width 75,
//! summarised above 1000 elements), so arrays print as the seed's notebook shows them.

use crate::array::Data;
use crate::dtype::{python_float_repr, Scalar};

const LINE_WIDTH: usize = 75;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;
const PRECISION: usize = 8;

/// The whole array as NumPy's `str` prints it; 0-d arrays print as the scalar's repr.
pub fn format_array(shape: &[usize], data: &Data) -> String {
    if shape.is_empty() {
        return data.get(0).to_string();
    }
    if data.is_empty() {
        // NumPy prints every empty array, whatever its shape, as `[]`.
        return "[]".into();
    }
    let summarise = data.len() > THRESHOLD;
    let shown = shown_indices(shape, summarise);
    let fmt = ElementFormat::new(data, &shown);
    let mut out = String::new();
    format_axis(shape, data, &fmt, summarise, 0, 0, &mut out);
    out
}

/// Flat indices of the elements that will be printed (all, or the edges when summarising).
fn shown_indices(shape: &[usize], summarise: bool) -> Vec<usize> {
    let mut idx = vec![0usize];
    for &d in shape {
        let keep: Vec<usize> = if summarise && d > 2 * EDGE_ITEMS {
            (0..EDGE_ITEMS).chain(d - EDGE_ITEMS..d).collect()
        } else {
            (0..d).collect()
        };
        idx = idx
            .iter()
            .flat_map(|&base| keep.iter().map(move |&k| base * d + k))
            .collect();
    }
    idx
}

fn format_axis(
    shape: &[usize],
    data: &Data,
    fmt: &ElementFormat,
    summarise: bool,
    axis: usize,
    offset: usize,
    out: &mut String,
) {
    let d = shape[axis];
    let stride: usize = shape[axis + 1..].iter().product();
    let indent = " ".repeat(axis + 1);
    let skip = summarise && d > 2 * EDGE_ITEMS;
    let items: Vec<Option<usize>> = if skip {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain([None])
            .chain((d - EDGE_ITEMS..d).map(Some))
            .collect()
    } else {
        (0..d).map(Some).collect()
    };
    out.push('[');
    if axis + 1 == shape.len() {
        // Innermost axis: words separated by spaces, wrapped at the line width.
        let close = shape.len(); // the `]`s that follow the last element
        let mut line_len = axis + 1;
        for (n, item) in items.iter().enumerate() {
            let word = match item {
                Some(i) => fmt.format(data.get(offset + i)),
                None => "...".to_string(),
            };
            let sep = if n == 0 { 0 } else { 1 };
            let reserve = if n + 1 == items.len() { close } else { 0 };
            if n > 0 && line_len + sep + word.len() + reserve > LINE_WIDTH {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push('\n');
                out.push_str(&indent);
                line_len = indent.len();
            } else if n > 0 {
                out.push(' ');
                line_len += 1;
            }
            out.push_str(&word);
            line_len += word.len();
        }
    } else {
        let blank_lines = shape.len() - axis - 2;
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push('\n');
                for _ in 0..blank_lines {
                    out.push('\n');
                }
                out.push_str(&indent);
            }
            match item {
                Some(i) => format_axis(
                    shape,
                    data,
                    fmt,
                    summarise,
                    axis + 1,
                    offset + i * stride,
                    out,
                ),
                None => out.push_str("..."),
            }
        }
    }
    out.push(']');
}

/// How every element of one array is formatted: NumPy pads all to a common width.
enum ElementFormat {
    Bool,
    Int {
        width: usize,
    },
    Positional {
        pad_left: usize,
        pad_right: usize,
    },
    Scientific {
        pad_left: usize,
        frac_digits: usize,
        exp_digits: usize,
    },
}

impl ElementFormat {
    fn new(data: &Data, shown: &[usize]) -> ElementFormat {
        let vals: Vec<Scalar> = shown.iter().map(|&i| data.get(i)).collect();
        match data {
            Data::Bool(_) => ElementFormat::Bool,
            d if d.dtype().is_float() => Self::for_floats(&vals),
            _ => {
                let width = vals.iter().map(|v| v.to_string().len()).max().unwrap_or(0);
                ElementFormat::Int { width }
            }
        }
    }

    fn for_floats(vals: &[Scalar]) -> ElementFormat {
        let finite: Vec<Scalar> = vals
            .iter()
            .copied()
            .filter(|v| v.to_f64().is_finite())
            .collect();
        let abs_nonzero: Vec<f64> = finite
            .iter()
            .map(|v| v.to_f64().abs())
            .filter(|&a| a != 0.0)
            .collect();
        let scientific = if abs_nonzero.is_empty() {
            false
        } else {
            let max = abs_nonzero.iter().cloned().fold(f64::MIN, f64::max);
            let min = abs_nonzero.iter().cloned().fold(f64::MAX, f64::min);
            max >= 1e8 || min < 1e-4 || max / min > 1e3
        };
        let nonfinite_width = vals
            .iter()
            .filter(|v| !v.to_f64().is_finite())
            .map(|v| python_float_repr(v.to_f64(), "").len())
            .max()
            .unwrap_or(0);
        if scientific {
            let parts: Vec<(String, String, String)> =
                finite.iter().map(|&v| scientific_parts(v)).collect();
            let pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(1);
            let frac_digits = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
            // Digits only (the part is `+10`): at least two, as NumPy pads `e+05`.
            let exp_digits = parts
                .iter()
                .map(|p| p.2.len() - 1)
                .max()
                .unwrap_or(2)
                .max(2);
            ElementFormat::Scientific {
                pad_left,
                frac_digits,
                exp_digits,
            }
        } else {
            let parts: Vec<(String, String)> =
                finite.iter().map(|&v| positional_parts(v)).collect();
            let mut pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
            let pad_right = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
            // NaN and inf are right-aligned in the same width as the numbers.
            pad_left = pad_left.max(nonfinite_width.saturating_sub(pad_right + 1));
            ElementFormat::Positional {
                pad_left,
                pad_right,
            }
        }
    }

    fn format(&self, v: Scalar) -> String {
        match *self {
            ElementFormat::Bool => format!("{:>5}", v.to_string()),
            ElementFormat::Int { width } => format!("{:>width$}", v.to_string()),
            ElementFormat::Positional {
                pad_left,
                pad_right,
            } => {
                if !v.to_f64().is_finite() {
                    let s = python_float_repr(v.to_f64(), "");
                    return format!("{:>w$}", s, w = pad_left + pad_right + 1);
                }
                let (int, frac) = positional_parts(v);
                format!("{:>pad_left$}.{:<pad_right$}", int, frac)
            }
            ElementFormat::Scientific {
                pad_left,
                frac_digits,
                exp_digits,
            } => {
                if !v.to_f64().is_finite() {
                    let s = python_float_repr(v.to_f64(), "");
                    return format!("{:>w$}", s, w = pad_left + frac_digits + exp_digits + 3);
                }
                let (int, frac, exp) = scientific_parts(v);
                let (esign, edigits) = exp.split_at(1);
                format!(
                    "{:>pad_left$}.{:0<frac_digits$}e{}{:0>exp_digits$}",
                    int, frac, esign, edigits
                )
            }
        }
    }
}

/// The shortest digits of a float in its own precision, as `(digits, exponent, negative)`.
fn shortest_digits(v: Scalar) -> (String, i32, bool) {
    let sci = match v {
        Scalar::F32(x) => format!("{x:e}"),
        other => format!("{:e}", other.to_f64()),
    };
    let (mant, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (
        digits,
        exp.parse().expect("integer exponent"),
        mant.starts_with('-'),
    )
}

/// NumPy `dragon4_positional(unique=True, precision=8, trim='.')`, split at the point.
fn positional_parts(v: Scalar) -> (String, String) {
    let (digits, exp, negative) = shortest_digits(v);
    let frac_len = (digits.len() as i32 - exp - 1).max(0) as usize;
    let s = if frac_len > PRECISION {
        // More digits than the precision: round the exact value to PRECISION places.
        let s = match v {
            Scalar::F32(x) => format!("{:.*}", PRECISION, x),
            other => format!("{:.*}", PRECISION, other.to_f64()),
        };
        let s = s.trim_end_matches('0').to_string();
        s.strip_prefix('-').map(str::to_string).unwrap_or(s)
    } else {
        let point = exp + 1;
        if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        }
    };
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let sign = if negative { "-" } else { "" };
    (format!("{sign}{int}"), frac.to_string())
}

/// NumPy `dragon4_scientific(unique=True, precision=8, trim='.')`: (int digit, fraction, exp).
fn scientific_parts(v: Scalar) -> (String, String, String) {
    let (digits, mut exp, negative) = shortest_digits(v);
    let (mut first, mut rest) = (digits[..1].to_string(), digits[1..].to_string());
    if rest.len() > PRECISION {
        // Round the exact value to PRECISION places; the carry can change the leading digit
        // and the exponent (7.999999999999998 is `8.e+00`, 9.9999999999 is `1.e+01`).
        let s = match v {
            Scalar::F32(x) => format!("{:.*e}", PRECISION, x.abs()),
            other => format!("{:.*e}", PRECISION, other.to_f64().abs()),
        };
        let (m, e) = s.split_once('e').expect("exponent");
        let (int, frac) = m.split_once('.').unwrap_or((m, ""));
        first = int.to_string();
        rest = frac.trim_end_matches('0').to_string();
        exp = e.parse().expect("integer exponent");
    }
    let sign = if negative { "-" } else { "" };
    let esign = if exp < 0 { '-' } else { '+' };
    (
        format!("{sign}{first}"),
        rest,
        format!("{esign}{}", exp.abs()),
    )
}

#[cfg(test)]
mod tests {
    use crate::array::Array;

    fn show(v: &[f32]) -> String {
        Array::from_slice(v).to_string()
    }

    #[test]
    fn floats_print_like_numpy() {
        assert_eq!(
            show(&[0.482287, 0.45585027, 0.99329686, 0.09532695, 0.8153717]),
            "[0.482287   0.45585027 0.99329686 0.09532695 0.8153717 ]"
        );
        assert_eq!(
            show(&[0.9066547, -0.9453376, 0.08205657, -1.8436362, 0.45950902]),
            "[ 0.9066547  -0.9453376   0.08205657 -1.8436362   0.45950902]"
        );
        assert_eq!(show(&[1.0, 2.0]), "[1. 2.]");
        assert_eq!(show(&[1.0, 2000.0]), "[1.e+00 2.e+03]");
        assert_eq!(show(&[1.5e-5, 1.0]), "[1.5e-05 1.0e+00]");
        // Rounding to 8 digits carries into the leading digit and the exponent (NumPy's text).
        let show64 = |v: &[f64]| Array::from_slice(v).to_string();
        assert_eq!(show64(&[9.9999999999, 1e-5]), "[1.e+01 1.e-05]");
        assert_eq!(show64(&[1.0000000049, 1e9]), "[1.e+00 1.e+09]");
        assert_eq!(show64(&[7.999999999999998, 20.0]), "[ 8. 20.]");
        assert_eq!(
            show(&[f32::NAN, 1.0, f32::NEG_INFINITY]),
            "[ nan   1. -inf]"
        );
        assert_eq!(show(&[]), "[]");
        assert_eq!(Array::scalar(3.0f32).to_string(), "3.0");
        let m = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.5], &[2, 2]).unwrap();
        assert_eq!(m.to_string(), "[[1.  2. ]\n [3.  4.5]]");
        assert_eq!(
            Array::from_slice(&[1i32, -20, 3]).to_string(),
            "[  1 -20   3]"
        );
        assert_eq!(
            Array::from_slice(&[true, false]).to_string(),
            "[ True False]"
        );
    }

    #[test]
    fn long_arrays_wrap_and_summarise() {
        let v: Vec<f32> = (0..30).map(|i| i as f32).collect();
        assert_eq!(
            show(&v),
            "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"
        );
        let v: Vec<i32> = (0..2000).collect();
        assert_eq!(
            Array::from_slice(&v).to_string(),
            "[   0    1    2 ... 1997 1998 1999]"
        );
    }
}
