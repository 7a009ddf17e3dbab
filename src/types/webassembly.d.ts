// The slice of the WebAssembly JS API keapgres uses (Node has it; @types/node does not declare it
// without the DOM library, which the server must not pull in).
declare namespace WebAssembly {
  // eslint-disable-next-line @typescript-eslint/no-empty-interface
  interface Module {}
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
}
