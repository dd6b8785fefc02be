//! One instance of every primitive with input types it accepts (shared by tests/jaxpr_parse.rs
//! and tests/filetests.rs): every table row without params, the rows with params, and one of
//! each other variant. `variant` matches every non-table family exhaustively, so a new variant
//! fails to compile here until it gets an instance.

use cranax::core::aval::Aval;
use cranax::ir::ClosedJaxpr;
use cranax::prims::cumulative::{Cumulative, CumulativeKind};
use cranax::prims::linalg::{EighImplementation, SvdAlgorithm};
use cranax::prims::shape::{
    GatherParams, GatherScatterMode, ScatterDimensionNumbers, ScatterKind, ScatterParams,
};
use cranax::prims::sort::{Sort, TopK};
use cranax::prims::window::{SelectPrim, Window, WindowKind, WindowOp};
use cranax::prims::{
    BinaryOp, CallOp, ControlOp, DotGeneral, LinalgOp, Prim, RandomOp, ReduceOp, ShapeOp, UnaryOp,
};
use cranax::{lax, make_jaxpr, Array, DType};

pub fn f32s(shape: &[usize]) -> Aval {
    Aval::new(shape.to_vec(), DType::F32)
}

/// The first dtype of f32, i32, bool an elementwise op accepts.
pub fn elementwise_dtype(admits: impl Fn(DType) -> bool) -> DType {
    [DType::F32, DType::I32, DType::Bool]
        .into_iter()
        .find(|&d| admits(d))
        .expect("an elementwise op accepts some dtype")
}

/// Which family-level variant a primitive is: an exhaustive match, so a new variant of
/// any non-table family fails to compile here until an instance is added to `instances`.
pub fn variant(p: &Prim) -> String {
    let name = match p {
        Prim::Unary(_) | Prim::Binary(_) => return format!("elementwise {}", p.name()),
        Prim::SelectN
        | Prim::Clamp
        | Prim::Dot(_)
        | Prim::Conv(_)
        | Prim::Sort(_)
        | Prim::TopK(_)
        | Prim::Random(RandomOp::Threefry2x32) => p.name(),
        Prim::Reduce(
            ReduceOp::Sum { .. }
            | ReduceOp::Prod { .. }
            | ReduceOp::And { .. }
            | ReduceOp::Or { .. }
            | ReduceOp::Xor { .. }
            | ReduceOp::Max { .. }
            | ReduceOp::Min { .. }
            | ReduceOp::Argmax { .. }
            | ReduceOp::Argmin { .. },
        ) => p.name(),
        Prim::Cumulative(Cumulative {
            kind:
                CumulativeKind::Sum
                | CumulativeKind::Prod
                | CumulativeKind::Max
                | CumulativeKind::Min
                | CumulativeKind::LogSumExp,
            ..
        }) => p.name(),
        Prim::Shape(
            ShapeOp::BroadcastInDim { .. }
            | ShapeOp::Reshape { .. }
            | ShapeOp::Transpose { .. }
            | ShapeOp::Rev { .. }
            | ShapeOp::Squeeze { .. }
            | ShapeOp::Concatenate { .. }
            | ShapeOp::Pad { .. }
            | ShapeOp::Slice { .. }
            | ShapeOp::DynamicSlice { .. }
            | ShapeOp::DynamicUpdateSlice
            | ShapeOp::Gather(_)
            | ShapeOp::Iota { .. },
        ) => p.name(),
        Prim::Shape(ShapeOp::Scatter(s)) => match s.kind {
            ScatterKind::Replace
            | ScatterKind::Add
            | ScatterKind::Mul
            | ScatterKind::Min
            | ScatterKind::Max => p.name(),
        },
        Prim::Linalg(
            LinalgOp::Cholesky
            | LinalgOp::TriangularSolve { .. }
            | LinalgOp::Lu
            | LinalgOp::LuPivotsToPermutation { .. }
            | LinalgOp::Qr { .. }
            | LinalgOp::Eigh { .. }
            | LinalgOp::Svd { .. },
        ) => p.name(),
        // custom_lin carries a Rust backward pass and no jaxpr: it has no text form.
        Prim::Call(
            CallOp::Pjit { .. }
            | CallOp::CustomJvpCall { .. }
            | CallOp::CustomVjpCall { .. }
            | CallOp::CustomLin { .. }
            | CallOp::Remat { .. },
        ) => p.name(),
        Prim::Control(
            ControlOp::While { .. } | ControlOp::Scan { .. } | ControlOp::Cond { .. },
        ) => p.name(),
        Prim::Window(w) => match **w {
            WindowOp::Reduce {
                kind: WindowKind::Sum | WindowKind::Max | WindowKind::Min,
                ..
            }
            | WindowOp::SelectAndGatherAdd { .. }
            | WindowOp::SelectAndScatterAdd { .. } => p.name(),
        },
    };
    name.to_string()
}

/// A small body: `x -> sin(x) * x`.
pub fn body(aval: &Aval) -> ClosedJaxpr {
    make_jaxpr(|x: &Array| &lax::sin(x).unwrap() * x)
        .call((Array::zeros(&aval.shape, aval.dtype),))
        .unwrap()
}

/// One instance of every primitive (every table row without params, and the rest), with
/// input types it accepts.
pub fn instances() -> Vec<(Prim, Vec<Aval>)> {
    let mut out = Vec::new();
    for op in UnaryOp::without_params() {
        let d = elementwise_dtype(|d| op.accepts().admits(d));
        out.push((Prim::Unary(op), vec![Aval::new(vec![3], d)]));
    }
    let with_params = [
        (UnaryOp::IntegerPow { y: -3 }, DType::F32),
        (
            UnaryOp::ConvertElementType {
                new_dtype: DType::I32,
                weak_type: true,
            },
            DType::F64,
        ),
        (
            UnaryOp::BitcastConvertType {
                new_dtype: DType::U32,
            },
            DType::F32,
        ),
    ];
    for (op, d) in with_params {
        out.push((Prim::Unary(op), vec![Aval::new(vec![2], d)]));
    }
    for op in BinaryOp::ALL {
        let d = elementwise_dtype(|d| op.accepts().admits(d));
        let a = Aval::new(vec![3], d);
        out.push((Prim::Binary(op.clone()), vec![a.clone(), a]));
    }
    let f = f32s(&[2, 3]);
    let bool3 = Aval::new(vec![2, 3], DType::Bool);
    let i32s = Aval::scalar(DType::I32);
    let u = Aval::new(vec![4], DType::U32);
    let idx = Aval::new(vec![2, 1], DType::I32);
    let take_dims = ScatterDimensionNumbers {
        update_window_dims: vec![0],
        inserted_window_dims: vec![1],
        scatter_dims_to_operand_dims: vec![1],
        ..Default::default()
    };
    let sq = f32s(&[3, 3]);
    let mut dot = DotGeneral::new(&[1], &[0], &[], &[]);
    dot.preferred_element_type = Some(DType::F32);
    let rest: Vec<(Prim, Vec<Aval>)> = vec![
        (Prim::SelectN, vec![bool3.clone(), f.clone(), f.clone()]),
        (Prim::Dot(dot), vec![f.clone(), f32s(&[3, 4])]),
        (
            Prim::Dot(DotGeneral::new(&[2], &[1], &[0], &[0])),
            vec![f32s(&[5, 2, 3]), f32s(&[5, 3, 4])],
        ),
        (
            Prim::Conv(Box::new(cranax::prims::ConvGeneralDilated {
                window_strides: vec![2, 1],
                padding: vec![(1, -1), (0, 2)],
                lhs_dilation: vec![1, 2],
                rhs_dilation: vec![3, 1],
                dimension_numbers: cranax::prims::ConvDimensionNumbers {
                    lhs_spec: vec![0, 3, 1, 2],
                    rhs_spec: vec![3, 2, 0, 1],
                    out_spec: vec![0, 3, 1, 2],
                },
                feature_group_count: 2,
                batch_group_count: 1,
                preferred_element_type: None,
            })),
            vec![f32s(&[1, 7, 5, 4]), f32s(&[2, 2, 2, 6])],
        ),
        (
            Prim::Random(RandomOp::Threefry2x32),
            vec![u.clone(), u.clone(), u.clone(), u],
        ),
        (
            Prim::Reduce(ReduceOp::Sum { axes: vec![0, 1] }),
            vec![f.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::Max { axes: vec![1] }),
            vec![f.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::Prod { axes: vec![0] }),
            vec![f.clone()],
        ),
        (
            Prim::Sort(Sort {
                dimension: 1,
                is_stable: true,
                num_keys: 1,
            }),
            vec![f.clone(), Aval::new(vec![2, 3], DType::I32)],
        ),
        (Prim::TopK(TopK { k: 2, axis: 1 }), vec![f.clone()]),
        (
            Prim::Cumulative(Cumulative {
                kind: CumulativeKind::Sum,
                axis: 1,
                reverse: false,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Cumulative(Cumulative {
                kind: CumulativeKind::Prod,
                axis: 0,
                reverse: true,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Cumulative(Cumulative {
                kind: CumulativeKind::Max,
                axis: 1,
                reverse: true,
            }),
            vec![Aval::new(vec![2, 3], DType::I32)],
        ),
        (
            Prim::Cumulative(Cumulative {
                kind: CumulativeKind::Min,
                axis: 0,
                reverse: false,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Cumulative(Cumulative {
                kind: CumulativeKind::LogSumExp,
                axis: 1,
                reverse: false,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::And { axes: vec![1] }),
            vec![bool3.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::Or { axes: vec![0] }),
            vec![bool3.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::Xor { axes: vec![0] }),
            vec![Aval::new(vec![2, 3], DType::I32)],
        ),
        (
            Prim::Reduce(ReduceOp::Min { axes: vec![] }),
            vec![f.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::Argmax {
                axes: vec![1],
                index_dtype: DType::I32,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Reduce(ReduceOp::Argmin {
                axes: vec![0],
                index_dtype: DType::U32,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::BroadcastInDim {
                shape: vec![4, 2, 3],
                broadcast_dimensions: vec![1, 2],
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Reshape {
                new_sizes: vec![3, 2],
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Transpose {
                permutation: vec![1, 0],
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Rev {
                dimensions: vec![0, 1],
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Squeeze {
                dimensions: vec![0],
            }),
            vec![f32s(&[1, 3])],
        ),
        (
            Prim::Shape(ShapeOp::Concatenate { dimension: 1 }),
            vec![f.clone(), f.clone(), f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Pad {
                padding_config: vec![(1, 0, 0), (0, 2, 1)],
            }),
            vec![f.clone(), f32s(&[])],
        ),
        (
            Prim::Shape(ShapeOp::Slice {
                start_indices: vec![0, 1],
                limit_indices: vec![2, 3],
                strides: None,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Slice {
                start_indices: vec![0, 0],
                limit_indices: vec![2, 3],
                strides: Some(vec![1, 2]),
            }),
            vec![f.clone()],
        ),
        (
            Prim::Shape(ShapeOp::DynamicSlice {
                slice_sizes: vec![1, 2],
            }),
            vec![f.clone(), i32s.clone(), i32s.clone()],
        ),
        (
            Prim::Shape(ShapeOp::DynamicUpdateSlice),
            vec![f.clone(), f32s(&[1, 2]), i32s.clone(), i32s.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Gather(Box::new(GatherParams {
                dimension_numbers: take_dims.to_gather(),
                slice_sizes: vec![2, 1],
                indices_are_sorted: false,
                unique_indices: false,
                mode: GatherScatterMode::FillOrDrop,
                fill_value: None,
            }))),
            vec![f.clone(), idx.clone()],
        ),
        (
            Prim::Shape(ShapeOp::Iota {
                dtype: DType::I32,
                shape: vec![2, 3],
                dimension: 1,
            }),
            vec![],
        ),
        (
            Prim::Window(Box::new(WindowOp::Reduce {
                kind: WindowKind::Sum,
                window: Window {
                    window_strides: vec![2, 1],
                    padding: vec![(1, 0), (0, 1)],
                    ..Window::new(&[2, 2])
                },
            })),
            vec![f32s(&[4, 3])],
        ),
        (
            Prim::Window(Box::new(WindowOp::Reduce {
                kind: WindowKind::Max,
                window: Window::new(&[2]),
            })),
            vec![f32s(&[4])],
        ),
        (
            Prim::Window(Box::new(WindowOp::Reduce {
                kind: WindowKind::Min,
                window: Window::new(&[2]),
            })),
            vec![f32s(&[4])],
        ),
        (Prim::Clamp, vec![f32s(&[]), f32s(&[3]), f32s(&[])]),
        (
            Prim::Window(Box::new(WindowOp::SelectAndGatherAdd {
                select_prim: SelectPrim::Ge,
                window: Window::new(&[2]),
            })),
            vec![f32s(&[4]), f32s(&[4])],
        ),
        (
            Prim::Window(Box::new(WindowOp::SelectAndScatterAdd {
                select_prim: SelectPrim::Le,
                window: Window::new(&[2]),
            })),
            vec![f32s(&[3]), f32s(&[4])],
        ),
        (Prim::Linalg(LinalgOp::Cholesky), vec![sq.clone()]),
        (
            Prim::Linalg(LinalgOp::TriangularSolve {
                left_side: true,
                lower: true,
                transpose_a: false,
                conjugate_a: false,
                unit_diagonal: true,
            }),
            vec![sq.clone(), f32s(&[3, 2])],
        ),
        (Prim::Linalg(LinalgOp::Lu), vec![sq]),
        (
            Prim::Linalg(LinalgOp::LuPivotsToPermutation {
                permutation_size: 4,
            }),
            vec![Aval::new(vec![3], DType::I32)],
        ),
        (
            Prim::Linalg(LinalgOp::Qr {
                pivoting: false,
                full_matrices: true,
                use_magma: None,
            }),
            vec![f32s(&[4, 3])],
        ),
        (
            Prim::Linalg(LinalgOp::Eigh {
                lower: true,
                sort_eigenvalues: true,
                subset_by_index: Some((0, 2)),
                algorithm: Some(EighImplementation::Qr),
            }),
            vec![f32s(&[3, 3])],
        ),
        (
            Prim::Linalg(LinalgOp::Svd {
                full_matrices: false,
                compute_uv: true,
                subset_by_index: None,
                algorithm: Some(SvdAlgorithm::Default),
            }),
            vec![f32s(&[4, 3])],
        ),
        (
            Prim::Call(CallOp::Pjit {
                name: "f".into(),
                jaxpr: body(&f),
            }),
            vec![f.clone()],
        ),
        (
            Prim::Call(CallOp::CustomJvpCall {
                name: "g".into(),
                call_jaxpr: body(&f),
                jvp: None,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Call(CallOp::CustomVjpCall {
                name: "h".into(),
                call_jaxpr: body(&f),
                rules: None,
            }),
            vec![f.clone()],
        ),
        (
            Prim::Call(CallOp::Remat {
                jaxpr: body(&f),
                differentiated: true,
                prevent_cse: false,
            }),
            vec![f.clone()],
        ),
    ];
    out.extend(rest);
    for kind in ScatterKind::ALL {
        out.push((
            Prim::Shape(ShapeOp::Scatter(Box::new(ScatterParams {
                kind,
                dimension_numbers: take_dims.clone(),
                indices_are_sorted: false,
                unique_indices: false,
                mode: GatherScatterMode::Clip,
                dtype: DType::F32,
            }))),
            vec![f.clone(), idx.clone(), f32s(&[2, 2])],
        ));
    }
    // Control flow: from the real functions (their jaxprs are what the printer sees).
    let x = Array::zeros(&[3], DType::F32);
    let traced = make_jaxpr(|x: &Array| {
        let w = lax::while_loop(
            |c: &(Array, Array)| lax::lt(&c.0, &Array::from(5i32)).unwrap(),
            |c: &(Array, Array)| {
                (
                    lax::add(&c.0, &Array::from(1i32)).unwrap(),
                    lax::sin(&c.1).unwrap(),
                )
            },
            (Array::from(0i32), x.clone()),
        )
        .unwrap();
        let (c, ys) = lax::scan(
            |c: &Array, x: &Array| (c + x, c * x),
            Array::from(0.0f32),
            x.clone(),
        )
        .unwrap();
        let p = lax::gt(&c, &Array::from(0.0f32)).unwrap();
        let k = lax::cond(&p, |v: &Array| v * 2.0, |v: &Array| v - 1.0, &ys).unwrap();
        (w.1, k)
    })
    .call((x,))
    .unwrap();
    for e in &traced.jaxpr.eqns {
        if let Prim::Control(_) = e.prim {
            let ins = e.inputs.iter().map(|a| traced.jaxpr.atom_aval(a)).collect();
            out.push((e.prim.clone(), ins));
        }
    }
    out
}
