//! libsparse from Rust: trains a tiny CNN from memory and prints the paper's
//! memory figures, classifies a saved network's test images one by one (as
//! examples/c/classify.c), and runs a small search with a callback and
//! prints its Pareto front (as examples/c/search_front.c). No third-party
//! crates: the FFI is declared by hand in ffi.rs and wrapped in sparse.rs.
mod ffi;
mod sparse;

use sparse::{Arch, Dataset, Error, Net, Run, SearchConfig};
use std::fs;
use std::io::Write;
use std::path::Path;

const ARCH: &str = concat!(
    "input: [1, 8, 8]\n",
    "classes: 3\n",
    "layers:\n",
    "  - {type: conv2d, name: c1, filters: 4, kernel: 3, padding: same}\n",
    "  - {type: relu}\n",
    "  - {type: maxpool, size: 2}\n",
    "  - {type: fc, name: out, units: 3}\n"
);

/// Three classes of 8x8 images: a bright row, column or diagonal, plus noise.
fn make_data(n: usize, seed: u32) -> (Vec<f32>, Vec<i32>) {
    let mut state = seed;
    let mut noise = move || {
        state = state.wrapping_mul(1664525).wrapping_add(1013904223);
        (state >> 8) as f32 / (1u32 << 24) as f32
    };
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let l = (i % 3) as i32;
        for y in 0..8 {
            for x in 0..8 {
                let on = (l == 0 && y == 3) || (l == 1 && x == 4) || (l == 2 && x == y);
                images.push(if on { 0.9 } else { 0.1 } + 0.2 * noise());
            }
        }
        labels.push(l);
    }
    (images, labels)
}

/// The images as CSV (label first, then the pixels), the form a data spec reads.
fn write_csv(path: &Path, images: &[f32], labels: &[i32]) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    for (i, l) in labels.iter().enumerate() {
        write!(f, "{}", l)?;
        for v in &images[i * 64..(i + 1) * 64] {
            write!(f, ",{}", v)?;
        }
        writeln!(f)?;
    }
    Ok(())
}

const SEARCH: &str = "threads: 1\ninitial_trials: 2\ncandidates: 8\n\
stages: [{trials: 3, rho: 0.8}, {trials: 0, rho: 0.8}, {trials: 1, rho: 0.8}]\n\
training: {batch: 16}\n\
space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [2, 4], kernel: [3, 3], pool: [2, 2],\n\
        input_downsample: [false], branches: [false], fc_layers: [0, 0], epochs: [3, 3]}\n";

fn run(dir: &Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error(format!("{}: {}", dir.display(), e));
    println!("libsparse {}", sparse::version());
    let arch = Arch::parse(ARCH)?;
    let (xi, yi) = make_data(3000, 1);
    let (xt, yt) = make_data(150, 2);
    let train = Dataset::from_memory(1, 8, 8, &xi, &yi, 3)?;
    let test = Dataset::from_memory(1, 8, 8, &xt, &yt, 3)?;
    let mut net = Net::new(&arch, 64, 7)?;
    net.train(&train)?;
    let accuracy = net.accuracy(&test)?;
    println!("test accuracy: {:.2}%", 100.0 * accuracy);
    println!("non-zero weights: {}", net.nonzero_count());
    let (ms, wm5, wm6) = net.memory()?;
    println!("MS {} B, WM5 {} B, WM6 {} B (int8, Fedorov et al. 2019 eqs. 4-6)", ms, wm5, wm6);

    // As classify.c: architecture and weights from files, the test split of a
    // data spec, one image at a time.
    fs::write(dir.join("arch.yaml"), ARCH).map_err(io)?;
    net.save(&dir.join("w.safetensors"))?;
    write_csv(&dir.join("test.csv"), &xt, &yt).map_err(io)?;
    let mut loaded = Net::new(&Arch::load(&dir.join("arch.yaml"))?, 1, 0)?;
    loaded.load(&dir.join("w.safetensors"))?;
    let (_tr, _va, split) = Dataset::open(&dir.join("test.csv"), 0)?;
    let mut correct = 0;
    for i in 0..split.len() {
        correct += (loaded.predict(&split, i)? == split.label(i)) as usize;
    }
    println!("classified {} held-out images one by one: {:.2}% (sparse_net_evaluate: {:.2}%)", split.len(),
             100.0 * correct as f64 / split.len() as f64, 100.0 * loaded.accuracy(&split)?);

    // As search_front.c: a search with a callback, then its Pareto front.
    let (xs, ys) = make_data(300, 3);
    write_csv(&dir.join("search.csv"), &xs, &ys).map_err(io)?;
    let yaml = format!("data: {{source: \"{}\", val_count: 40}}\n{}", dir.join("search.csv").display(), SEARCH);
    fs::write(dir.join("search.yaml"), yaml).map_err(io)?;
    let cfg = SearchConfig::load(&dir.join("search.yaml"))?;
    sparse::search(&cfg, &dir.join("run"), |ev| {
        println!("trial {}/{} (stage {}): {:.2}% validation, MS {} B, WM {} B", ev.trial + 1, ev.total, ev.stage,
                 100.0 * ev.val_accuracy, ev.ms_bytes, ev.wm_bytes);
        true // false would stop the search cleanly
    })?;
    let run = Run::open(&dir.join("run"))?;
    let front = run.pareto()?;
    println!("Pareto front ({} of {} trials):", front.len(), run.trial_count());
    for id in front {
        println!("  trial {}: {:.2}% validation, MS {} B, WM5 {} B", id,
                 100.0 * run.value(id, ffi::SPARSE_TRIAL_VAL_ACCURACY)?, run.value(id, ffi::SPARSE_TRIAL_MS_BYTES)?,
                 run.value(id, ffi::SPARSE_TRIAL_WM5_BYTES)?);
    }

    // Errors come back as values carrying the library's message.
    match Arch::parse("input: [1, 8, 8]\nlayers:\n  - {type: conv3d}\n") {
        Err(e) => println!("a bad architecture is refused: {}", e.0),
        Ok(_) => return Err(Error("conv3d was accepted".into())),
    }
    Ok(())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("sparse-rust-example-{}", std::process::id()));
    let made = fs::create_dir_all(&dir).map_err(|e| Error(format!("{}: {}", dir.display(), e)));
    let result = made.and_then(|_| run(&dir));
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = result {
        eprintln!("error: {}", e.0);
        std::process::exit(1);
    }
}
