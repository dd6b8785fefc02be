//! The JIT (issue 5) against the reference interpreter.

use cranax::core::error::or_raise;
use cranax::lax;
use cranax::*;

fn seed_x() -> Array {
    Array::from_slice(&[0.9066547f32, -0.9453376, 0.08205657, -1.8436362, 0.45950902])
}

#[test]
fn seed_jit_vmap_grad_tanh() {
    let f = jit(vmap(grad(|x: &Array| or_raise(lax::tanh(x)))));
    let y = f.call((seed_x(),)).unwrap();
    let want = [0.482287f32, 0.45585027, 0.99329686, 0.09532695, 0.8153717];
    let got = y.to_vec::<f32>().unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{got:?}");
    }
    let sig = cranax::api::jit::signature_of(&(seed_x(),));
    let exe = f.executable_for(&sig).unwrap();
    eprintln!("{}", exe.clif_ir());
}
