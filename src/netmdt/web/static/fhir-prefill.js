// The new-case form's FHIR pre-fill: a chosen file is read in the browser into the
// Bundle box (the form itself takes no file parts). Without JavaScript: paste the Bundle.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("f-bundle");
  var picker = document.getElementById("f-bundle-file");
  if (!box || !picker || !window.FileReader) { return; }
  picker.closest(".fhir-file").hidden = false;
  picker.addEventListener("change", function () {
    var file = picker.files && picker.files[0];
    if (!file) { return; }
    var reader = new FileReader();
    reader.onload = function () { box.value = reader.result; };
    reader.readAsText(file);
  });
});
