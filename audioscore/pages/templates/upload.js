// The upload policy admits audio/* content types only: send the file's own type, or one named after its extension.
document.getElementById("upload-file").addEventListener("change", function (event) {
  var file = event.target.files[0], type = file ? file.type : "";
  if (type.indexOf("audio/") !== 0) {
    var ext = file ? file.name.split(".").pop().toLowerCase() : "";
    var byExt = {mp4: "audio/mp4", m4a: "audio/mp4", mov: "audio/mp4", webm: "audio/webm", mkv: "audio/x-matroska",
                 ogg: "audio/ogg", opus: "audio/ogg", oga: "audio/ogg", flac: "audio/flac", wav: "audio/wav",
                 mp3: "audio/mpeg", aac: "audio/aac"};
    type = byExt[ext] || "audio/octet-stream";
  }
  document.getElementById("upload-type").value = type;
});
