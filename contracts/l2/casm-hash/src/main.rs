//! `casm-hash <contract_class.json>...`: prints, for each Sierra contract class, one JSON line
//! `{"path", "class_hash", "compiled_class_hash"}`.
//!
//! The compiled class hash is the one starknet-devnet 0.10 checks a DECLARE against: it
//! compiles the declared class to CASM with cairo-lang-starknet-classes 2.19.4 (Python hints
//! on, no bytecode size limit) and hashes it with the V2 (Blake2s) compiled class hash. The
//! class hash is starknet-rs' (`FlattenedSierraClass::class_hash`).

use std::process::ExitCode;

use cairo_lang_starknet_classes::casm_contract_class::CasmContractClass;
use cairo_lang_starknet_classes::contract_class::ContractClass;
use starknet_core::types::contract::SierraClass;

fn hashes(path: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut class: ContractClass =
        serde_json::from_str(&text).map_err(|e| format!("{path}: not a contract class: {e}"))?;
    // A DECLARE carries no debug info: compile the class as devnet will see it.
    class.sierra_program_debug_info = None;
    let program = class
        .extract_sierra_program(true)
        .map_err(|e| format!("{path}: Sierra program: {e:?}"))?;
    let casm = CasmContractClass::from_contract_class(class, program, true, usize::MAX)
        .map_err(|e| format!("{path}: Sierra → CASM: {e}"))?;
    let sierra: SierraClass =
        serde_json::from_str(&text).map_err(|e| format!("{path}: starknet-rs: {e}"))?;
    let flat = sierra.flatten().map_err(|e| format!("{path}: flatten: {e}"))?;
    Ok(serde_json::json!({
        "path": path,
        "class_hash": format!("{:#x}", flat.class_hash()),
        "compiled_class_hash": format!("{:#x}", casm.compiled_class_hash()),
    }))
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: casm-hash <contract_class.json>...");
        return ExitCode::from(2);
    }
    for p in &paths {
        match hashes(p) {
            Ok(v) => println!("{v}"),
            Err(e) => {
                eprintln!("casm-hash: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
