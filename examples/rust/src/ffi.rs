//! Hand-written declarations of the part of libsparse's C API this example
//! uses (include/sparse/*.h). Handles are opaque; only versioned options
//! structs have a layout, and none is needed here.
use std::os::raw::{c_char, c_int};

#[repr(C)]
pub struct SparseArch {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseNet {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseDataset {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseMemreport {
    _private: [u8; 0],
}

pub const SPARSE_OK: c_int = 0;

extern "C" {
    pub fn sparse_version() -> *const c_char;
    pub fn sparse_strerror(code: c_int) -> *const c_char;
    pub fn sparse_last_error() -> *const c_char;

    pub fn sparse_arch_parse_yaml(out: *mut *mut SparseArch, text: *const c_char, len: usize,
                                  source: *const c_char) -> c_int;
    pub fn sparse_arch_free(arch: *mut SparseArch);

    pub fn sparse_net_create(out: *mut *mut SparseNet, arch: *const SparseArch, max_batch: usize,
                             seed: u64) -> c_int;
    pub fn sparse_net_free(net: *mut SparseNet);
    pub fn sparse_net_train(net: *mut SparseNet, train: *const SparseDataset,
                            opts: *const std::ffi::c_void, result: *mut std::ffi::c_void) -> c_int;
    pub fn sparse_net_evaluate(net: *mut SparseNet, ds: *const SparseDataset, accuracy: *mut f64) -> c_int;
    pub fn sparse_net_nonzero_count(net: *const SparseNet) -> usize;

    pub fn sparse_dataset_from_memory(out: *mut *mut SparseDataset, n: usize, c: usize, h: usize,
                                      w: usize, images: *const f32, labels: *const i32,
                                      num_classes: usize) -> c_int;
    pub fn sparse_dataset_free(ds: *mut SparseDataset);

    pub fn sparse_memreport_from_net(out: *mut *mut SparseMemreport, net: *const SparseNet,
                                     opts: *const std::ffi::c_void) -> c_int;
    pub fn sparse_memreport_free(r: *mut SparseMemreport);
    pub fn sparse_memreport_ms_bytes(r: *const SparseMemreport, bytes: *mut u64) -> c_int;
    pub fn sparse_memreport_wm_bytes(r: *const SparseMemreport, model: c_int, bytes: *mut u64,
                                     layer: *mut usize) -> c_int;
}
