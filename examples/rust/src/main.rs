//! Trains a tiny CNN with libsparse from Rust and prints the paper's memory
//! figures. No third-party crates: the FFI is declared by hand in ffi.rs and
//! wrapped in safe types that free their handles on Drop.
mod ffi;

use std::ffi::{CStr, CString};
use std::ptr;

/// A libsparse failure: the status name and sparse_last_error().
#[derive(Debug)]
struct Error(String);

fn check(rc: i32) -> Result<(), Error> {
    if rc == ffi::SPARSE_OK {
        return Ok(());
    }
    unsafe {
        let name = CStr::from_ptr(ffi::sparse_strerror(rc)).to_string_lossy();
        let msg = CStr::from_ptr(ffi::sparse_last_error()).to_string_lossy();
        Err(Error(format!("{}: {}", name, msg)))
    }
}

struct Arch(*mut ffi::SparseArch);
impl Arch {
    fn parse(yaml: &str) -> Result<Arch, Error> {
        let mut p = ptr::null_mut();
        let src = CString::new("inline.yaml").unwrap();
        check(unsafe { ffi::sparse_arch_parse_yaml(&mut p, yaml.as_ptr() as *const _, yaml.len(), src.as_ptr()) })?;
        Ok(Arch(p))
    }
}
impl Drop for Arch {
    fn drop(&mut self) {
        unsafe { ffi::sparse_arch_free(self.0) }
    }
}

struct Dataset(*mut ffi::SparseDataset);
impl Dataset {
    fn from_memory(c: usize, h: usize, w: usize, images: &[f32], labels: &[i32], classes: usize) -> Result<Dataset, Error> {
        assert_eq!(images.len(), labels.len() * c * h * w);
        let mut p = ptr::null_mut();
        check(unsafe {
            ffi::sparse_dataset_from_memory(&mut p, labels.len(), c, h, w, images.as_ptr(), labels.as_ptr(), classes)
        })?;
        Ok(Dataset(p))
    }
}
impl Drop for Dataset {
    fn drop(&mut self) {
        unsafe { ffi::sparse_dataset_free(self.0) }
    }
}

struct Net(*mut ffi::SparseNet);
impl Net {
    fn new(arch: &Arch, max_batch: usize, seed: u64) -> Result<Net, Error> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::sparse_net_create(&mut p, arch.0, max_batch, seed) })?;
        Ok(Net(p))
    }
    /// Trains with the library's default options (NULL options).
    fn train(&mut self, data: &Dataset) -> Result<(), Error> {
        check(unsafe { ffi::sparse_net_train(self.0, data.0, ptr::null(), ptr::null_mut()) })
    }
    fn accuracy(&mut self, data: &Dataset) -> Result<f64, Error> {
        let mut acc = 0.0;
        check(unsafe { ffi::sparse_net_evaluate(self.0, data.0, &mut acc) })?;
        Ok(acc)
    }
    /// (MS, WM5, WM6) in bytes at int8, as the paper defines them.
    fn memory(&self) -> Result<(u64, u64, u64), Error> {
        let mut r = ptr::null_mut();
        check(unsafe { ffi::sparse_memreport_from_net(&mut r, self.0, ptr::null()) })?;
        let (mut ms, mut wm5, mut wm6, mut layer) = (0u64, 0u64, 0u64, 0usize);
        let rc = unsafe {
            let mut rc = ffi::sparse_memreport_ms_bytes(r, &mut ms);
            if rc == 0 {
                rc = ffi::sparse_memreport_wm_bytes(r, 5, &mut wm5, &mut layer);
            }
            if rc == 0 {
                rc = ffi::sparse_memreport_wm_bytes(r, 6, &mut wm6, &mut layer);
            }
            ffi::sparse_memreport_free(r);
            rc
        };
        check(rc)?;
        Ok((ms, wm5, wm6))
    }
}
impl Drop for Net {
    fn drop(&mut self) {
        unsafe { ffi::sparse_net_free(self.0) }
    }
}

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

fn run() -> Result<(), Error> {
    let version = unsafe { CStr::from_ptr(ffi::sparse_version()) };
    println!("libsparse {}", version.to_string_lossy());
    let arch = Arch::parse(ARCH)?;
    let (xi, yi) = make_data(3000, 1);
    let (xt, yt) = make_data(150, 2);
    let train = Dataset::from_memory(1, 8, 8, &xi, &yi, 3)?;
    let test = Dataset::from_memory(1, 8, 8, &xt, &yt, 3)?;
    let mut net = Net::new(&arch, 64, 7)?;
    net.train(&train)?;
    println!("test accuracy: {:.2}%", 100.0 * net.accuracy(&test)?);
    println!("non-zero weights: {}", unsafe { ffi::sparse_net_nonzero_count(net.0) });
    let (ms, wm5, wm6) = net.memory()?;
    println!("MS {} B, WM5 {} B, WM6 {} B (int8, Fedorov et al. 2019 eqs. 4-6)", ms, wm5, wm6);
    // Errors come back as values carrying the library's message.
    match Arch::parse("input: [1, 8, 8]\nlayers:\n  - {type: conv3d}\n") {
        Err(e) => println!("a bad architecture is refused: {}", e.0),
        Ok(_) => return Err(Error("conv3d was accepted".into())),
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {}", e.0);
        std::process::exit(1);
    }
}
